"""Signal processing front-ends (STFT, CQT, HCQT, synthesizers)."""
