"""Support: tickets, SLA policies and the clocks that count promised times (support/sla.py)."""
