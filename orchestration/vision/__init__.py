"""Vision: the LanceDB tables built from the lake (face gallery calibration, image index),
the room-inspection probe (tracked in MLflow), and the vector store's maintenance."""
