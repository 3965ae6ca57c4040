"""The SimPy actors of seed 001 (Dynamics 365 Customer Insights – Journeys): the Dataverse org, the
record sources and customers' responses, trigger processing, the journey orchestrator and the
channels. Each owns its domain objects from :mod:`sim.domain.dynamics` and gives them time."""
