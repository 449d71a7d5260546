"""The server's instructions, as `initialize` gives them to the client (and the model)."""

INSTRUCTIONS = """Manage which shopper profiles belong to a BigCommerce customer segment.
Segments are identified by UUIDs: list_segments(name_contains=...) finds one by name. list_segment_profiles shows
who is in a segment, by name. find_shopper_profiles finds customers by name, email or number (in_segment_id narrows
it to one segment); when several match, ask the user which one.
Writes take one source and the server resolves it: profile_ids, customer_ids, from_segment_id (add: copy another
segment's members; remove: take out everyone who is in that segment), customers_where (customers by group, company,
sign-up, orders, spend or segments), or all_members=true (remove: empty it). Never copy lists of IDs between calls
when a source can say it. create_segment, update_segment and delete_segment (previewed like a removal) manage the
segments themselves.
Removal is two steps: call remove_profiles_from_segment with the source to get a preview (a preview_id and the people
by name), show it to the user, and only after they approve call it with segment_id, preview_id and confirm=true.
Every write's result has a change_id: list_recent_changes shows changes, undo_change reverses one."""
READ_ONLY = (
    "\nREAD-ONLY MODE: adding, removing, undoing and changing segments are switched off; the read tools work as "
    "described."
)
NO_PREVIEW = (
    "\nThe operator allows removals without a preview (BIGCOMMERCE_CONFIRM_WITHOUT_PREVIEW): confirm=true with a "
    "source removes at once. Still show the user what will be removed first."
)
