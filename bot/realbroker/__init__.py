"""Apache RocketMQ 5.5 from Maven Central, run beside the project for tests, benchmarks and local trials.

``maven`` resolves the jars into a cache outside the repository, ``cluster`` starts a NameServer, a Broker
and a Proxy (cluster mode: the 5.5 proxy's local mode has no lite-subscription service) on free loopback
ports, and ``admin`` runs ``mqadmin`` command lines through RocketMQ's own admin CLI in one JVM.
"""
