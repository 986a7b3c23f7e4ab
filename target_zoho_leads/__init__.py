"""Singer target that turns CDP events into Zoho CRM Leads."""
