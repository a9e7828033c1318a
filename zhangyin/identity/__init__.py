"""Identity: customers, staff, login, sessions, step-up authentication and personal data."""
