"""dotsync: keep marketing lists in sync with Dotmailer (Dotdigital) address books."""

__version__ = "0.1.0"
