"""The agent terminal: caller identification, intake of tickets in one call, telephony."""
