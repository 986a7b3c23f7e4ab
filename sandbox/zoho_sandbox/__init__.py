"""A local Zoho CRM sandbox: tokens, Leads writes, COQL, search, field metadata."""

from __future__ import annotations

from zoho_sandbox.core import ZohoSandbox

__all__ = ["ZohoSandbox"]
