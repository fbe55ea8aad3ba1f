"""tourguide core: settings, wire schemas, errors, the RocketMQ bus, the embedded broker, the CLI."""
