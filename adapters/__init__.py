"""Chat front ends: translate platform events to and from tourguide's schemas, nothing else."""
