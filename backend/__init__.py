"""The GauGAN painter's inference server (FastAPI + onnxruntime). Entry point: `python -m backend`."""
