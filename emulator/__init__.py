"""NeuRRAM-48 emulator: the Python driver of the C core."""
