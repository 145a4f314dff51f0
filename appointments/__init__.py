"""Services, staff, working hours, availability, and appointments with their status workflow."""
