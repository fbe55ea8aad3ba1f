"""The web page: chat, live progress over SSE (AG-UI events), itinerary cards and the trace timeline."""
