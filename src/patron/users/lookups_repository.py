"""The statements of the user namespace's lookups (users/lookups.py): the change log of one
customer, the customers an inquiry narrows to, the groups of a customer. Every statement
names the org and is served by an index (docs/users.md, "Lookups"); none reads an org's
customers whole."""

from __future__ import annotations

from patron.db.sql import Q
from patron.users.records import INDEXED

# One customer's change log, newest first: the index (org_id, customer_id, change_id).
HISTORY = Q(
    "SELECT change_id, kind, field_name, field_type, previous_value, current_value, till_id,"
    " request_id, changed_at, surface FROM customer_change"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
    " ORDER BY change_id DESC LIMIT :limit OFFSET :offset"
)
CUSTOMER = Q(
    "SELECT merged_into_id, status_label, created_at FROM customer"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)

# Inquiry User(s): the candidates of each narrowing filter, then their customer rows.
# An identifier by value: the index (org_id, id_type, value) of customer_identifier.
_BY_IDENTIFIER = (
    "SELECT DISTINCT customer_id FROM customer_identifier{indexed}"
    " WHERE org_id = :org_id AND id_type = :id_type AND value = :value"
)
BY_IDENTIFIER = Q(
    sqlite=_BY_IDENTIFIER.format(indexed=" INDEXED BY ix_customer_identifier_org_id_id_type_value"),
    postgresql=_BY_IDENTIFIER.format(indexed=""),
)
# A name or identifier by prefix: the primary key (org_id, term, ...) of search_term.
BY_TERM = Q(
    "SELECT customer_id, id_type FROM search_term WHERE org_id = :org_id AND term >= :low AND term < :high"
    " ORDER BY term, customer_id LIMIT :scan"
)
# Customers created within a range: the index (org_id, created_at) of customer.
BY_CREATED = Q(
    "SELECT customer_id FROM customer WHERE org_id = :org_id AND created_at >= :low AND created_at < :high"
    " ORDER BY created_at LIMIT :scan"
)
# The candidates' customer rows: the primary key (org_id, customer_id).
CUSTOMERS = Q(
    "SELECT customer_id, status_label, merged_into_id, created_at, updated_at FROM customer"
    " WHERE org_id = :org_id AND customer_id IN (:ids*)"
)
# The candidates' records of one kind: the index (org_id, customer_id, kind) of user_record.
# (Named for SQLite, whose planner may otherwise read the org's records to probe the list.)
_RECORDS = (
    "SELECT customer_id, data FROM user_record{indexed} WHERE org_id = :org_id AND customer_id IN (:ids*)"
)
RECORDS_OF_KIND = Q(
    sqlite=_RECORDS.format(indexed=INDEXED) + " AND kind = :kind",
    postgresql=_RECORDS.format(indexed="") + " AND kind = :kind",
)
RECORDS_WITH_SOURCE = Q(sqlite=_RECORDS.format(indexed=INDEXED), postgresql=_RECORDS.format(indexed=""))

# Get User Group(s): the groups the customer heads (unique key (org_id, primary_customer_id,
# hierarchy_code)) and those it is a member of (index (org_id, customer_id) of group_member,
# then the group by its primary key; SQLite's CROSS JOIN keeps that order).
_GROUP_COLUMNS = (
    "g.group_id, g.name, g.hierarchy_code, g.group_program_id, g.primary_customer_id, g.primary_role,"
    " g.loyalty_points, g.lifetime_points, g.created_at, g.updated_at"
)
GROUPS_HEADED = Q(
    f"SELECT {_GROUP_COLUMNS} FROM customer_group g"
    " WHERE g.org_id = :org_id AND g.primary_customer_id = :customer_id"
)
_JOINED = (
    f"SELECT {_GROUP_COLUMNS} FROM group_member m{{indexed}} {{join}} customer_group g"
    " ON g.org_id = m.org_id AND g.group_id = m.group_id"
    " WHERE m.org_id = :org_id AND m.customer_id = :customer_id"
)
GROUPS_JOINED = Q(
    sqlite=_JOINED.format(indexed=" INDEXED BY ix_group_member_org_id_customer_id", join="CROSS JOIN"),
    postgresql=_JOINED.format(indexed="", join="JOIN"),
)
# The members of those groups (primary key (org_id, group_id, customer_id)), at most
# :limit of each answer.
MEMBERS = Q(
    "SELECT group_id, customer_id, role_code, joined_at FROM group_member"
    " WHERE org_id = :org_id AND group_id IN (:ids*) ORDER BY group_id, customer_id LIMIT :limit"
)
# The members' names: the primary key (org_id, customer_id, source, account_id).
PROFILES = Q(
    "SELECT customer_id, source, account_id, first_name, last_name FROM customer_profile"
    " WHERE org_id = :org_id AND customer_id IN (:ids*)"
)
