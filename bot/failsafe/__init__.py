"""What a worker still gets when a part fails: 999 and the numbers, never nothing."""
