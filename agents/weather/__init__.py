"""The Weather agent: daily weather for a place and dates, live when it can, offline when it must."""
