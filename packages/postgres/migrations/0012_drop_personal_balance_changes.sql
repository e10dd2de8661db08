-- personal.balance_changes recorded the personal store's applyBalanceChange, which nothing
-- called: wallets move only through deposits (wallet_credits) and the settlement ledger
-- (personal.transactions and their events), both of which keep the wallet's shortfall. The
-- table could hold a wallet movement the ledger never saw; it goes with the method.
drop table personal.balance_changes;
