"""The OAuth scopes a run needs, and which scope each Zoho call needs."""

from __future__ import annotations

SCOPES = (
    "ZohoCRM.modules.leads.ALL",
    "ZohoCRM.settings.fields.READ",
    "ZohoCRM.coql.READ",
)
# What match_contacts needs besides: reading the Contacts module.
CONTACTS_SCOPE = "ZohoCRM.modules.contacts.READ"
# What Bulk Write needs besides; without them write_method records still works.
BULK_SCOPE = "ZohoCRM.bulk.ALL"
FILES_SCOPE = "ZohoFiles.files.ALL"
ORG_SCOPE = "ZohoCRM.org.READ"
BULK_SCOPES = (BULK_SCOPE, FILES_SCOPE, ORG_SCOPE)
# Which scope a call needs, by a part of its path; Leads writes need the first.
SCOPE_OF_PATH = (
    ("/coql", "ZohoCRM.coql.READ"),
    ("/settings/fields", "ZohoCRM.settings.fields.READ"),
    ("/Leads/search", "ZohoSearch.securesearch.READ"),
    ("/Contacts/search", "ZohoSearch.securesearch.READ"),
    ("/Leads", "ZohoCRM.modules.leads.ALL"),
    ("/Contacts", CONTACTS_SCOPE),
)


def scope_for(name: str) -> str:
    """The OAuth scope a call (``METHOD /crm/v8/path``) needs."""
    path = name.split(" ", 1)[-1]
    for part, scope in SCOPE_OF_PATH:
        if part in path:
            return scope
    return SCOPES[0]
