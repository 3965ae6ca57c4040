"""The real logic of the platforms, free of timing: no module here imports simpy."""
