"""Run the target as ``python -m target_zoho_leads``."""

from __future__ import annotations

from target_zoho_leads.target import TargetZohoLeads

TargetZohoLeads.cli()
