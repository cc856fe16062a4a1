"""The traveller registry: travellers, trips and stops, and the ways they get in
(registration, bulk import, synthetic seeding) and out (the affected set). Uses `geo`."""
