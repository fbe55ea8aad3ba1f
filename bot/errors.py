"""The one error tree of tourguide.

Every error the project raises derives from :class:`TourGuideError`. Foreign exceptions are
wrapped at the boundary where they happen (``raise StorageError(...) from exc``). Each error
carries a short ``user_message`` that is safe to show in a chat; logs get the detail.

    TourGuideError
    ├── ConfigError            settings missing or invalid (names the variables)
    ├── BusError               talking to RocketMQ failed (send, subscribe, consume)
    ├── BrokerError            a broker cannot start or serve (also a bot.broker.errors.BrokerError)
    ├── StorageError           SQLite failed
    ├── WireError              a message body or platform payload could not be parsed
    ├── InputError             the user's request cannot be handled as given
    │   ├── EmptyRequest
    │   ├── RequestTooLong
    │   ├── UnknownPlace
    │   └── BadDates
    └── ExternalServiceError   an HTTP API (LLM, weather, chat platform) failed
        ├── RateLimited        the service answered 429 / throttling after all retries
        └── ServiceTimeout     the service did not answer in time after all retries
"""

from __future__ import annotations

from bot.broker.errors import BrokerError as EmbeddedBrokerError


class TourGuideError(Exception):
    """Base of every tourguide error; ``user_message`` is the friendly sentence for chat users."""

    user_message = "Sorry, something went wrong on my side. Please try again in a moment."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        if user_message is not None:
            self.user_message = user_message


class ConfigError(TourGuideError):
    """Raised when settings are missing or invalid; the detail names every bad variable."""


class BusError(TourGuideError):
    """Raised when a RocketMQ operation (send, subscribe, consume) fails."""


class BrokerError(TourGuideError, EmbeddedBrokerError):
    """Raised when a broker (the embedded one, or an Apache RocketMQ we start) cannot start or serve.

    The embedded broker is self-contained and raises its own :class:`bot.broker.errors.BrokerError`;
    this class derives from it, so ``except bot.broker.errors.BrokerError`` catches both.
    """


class StorageError(TourGuideError):
    """Raised when a SQLite operation fails."""


class WireError(TourGuideError):
    """Raised when a message body or a platform payload cannot be parsed or validated."""


class InputError(TourGuideError):
    """Raised when the user's request cannot be handled as given; the user message says why."""

    user_message = "I could not understand that request."


class EmptyRequest(InputError):
    """Raised when the request text is empty or only whitespace."""

    user_message = "Tell me where and when you want to go, e.g. “3 days in Kyoto next weekend”."


class RequestTooLong(InputError):
    """Raised when the request text exceeds the accepted length."""

    user_message = "That message is too long for me. Please keep a trip request under 2,000 characters."


class UnknownPlace(InputError):
    """Raised when a destination cannot be located; never answered with invented data."""

    user_message = "I could not find that place. Could you give the city name (and country)?"


class BadDates(InputError):
    """Raised when the requested dates are in the past, reversed or too long a trip."""

    user_message = "Those dates do not work for me. Please check the start and end date."


class ExternalServiceError(TourGuideError):
    """Raised when an external HTTP API fails after the retries its policy allows."""

    user_message = "An external service I rely on is not answering right now. Please try again later."


class RateLimited(ExternalServiceError):
    """Raised when an external service keeps answering 429 / throttling after all retries."""

    user_message = "The AI service is busy right now (rate limited). Please try again in a minute."


class ServiceTimeout(ExternalServiceError):
    """Raised when an external service does not answer in time after all retries."""

    user_message = "The AI service took too long to answer. Please try again in a minute."
