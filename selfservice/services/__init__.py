"""Every write of self-service: booking by the client, the waitlist, the survey."""
