"""The ledgers' repositories: each turns what a writer decided into rows, with a batch API, inside the
transaction of a unit of work (server/uow.py), which is how writers reach them."""
