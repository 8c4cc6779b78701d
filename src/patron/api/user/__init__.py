"""The user namespace's HTTP surface (seed 004): its envelope, headers and routes."""
