"""What the textdetector and reviewdashboard modules share: the parsers of their settings
(`options`) and the Host-header rule of their HTTP servers (`hosts`). Standard library
only, so both images install it without a new dependency."""
