"""Tests of the local Zoho CRM sandbox."""
