"""Dense matrix product C = A @ B."""
