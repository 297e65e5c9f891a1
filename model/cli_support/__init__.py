"""What every command shares: the entry-point wrapper and reading a checkpoint with its sentence files."""
