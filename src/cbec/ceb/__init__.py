"""The customs cross-border e-commerce message standard (CEB, 202205 edition). No database, no HTTP."""
