"""Data contracts: the seven input tables, their readers and their validation."""
