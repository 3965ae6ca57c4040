"""SimPy actors: each owns one domain object and gives it time, capacity, queues and limits."""
