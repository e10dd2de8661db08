-- The hold-expiry sweeps read open holds through transactions_open_expiry_idx (0008) and
-- personal_transactions_open_expiry_idx (0009), which cover pending and partially cleared rows.
-- The pending-only indexes they replaced serve no query and cost a write on every ledger change.
drop index if exists transactions_pending_expiry_idx;
drop index if exists personal.transactions_pending_expiry_idx;
