"""Loyalty on the customer record: programs and tiers, the append-only points ledger and
the summaries it adds up to, purchases, returns, redemptions and the rest.

    ledger.py       the entry kinds and how each moves a summary (the one rule both the
                    live writes and `patron loyalty rebuild` apply)
    programs.py     what a program's configuration says: points earned, tiers
    repository.py   the statements
    service.py      the use cases on one customer's account
    rebuild.py      summaries recomputed from the ledger, differences reported
"""
