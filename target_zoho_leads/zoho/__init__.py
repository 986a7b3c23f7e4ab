"""Zoho CRM: transport, hosts, auth, retries, limits, credits, the client and Bulk Write."""
