"""The console's pages, one module per area: usage, keys, members and routing."""
