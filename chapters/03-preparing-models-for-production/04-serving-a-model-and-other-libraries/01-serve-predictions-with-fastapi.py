app = FastAPI()
# The exported classifier already ends with softmax
classifier = torch.export.load("classifier.pt2").module()
@app.____("/predict")
def predict(file: UploadFile):
    try:
        pixels = decode_image(file.file.____())
    except ____ as err:
        raise HTTPException(status_code=____, detail=f"not a usable image: {err}")
    with torch.inference_mode():
        probs = classifier(torch.from_numpy(to_model_input(pixels)))[0]
    return {"label": CLASSES[int(probs.argmax())], "probability": round(float(probs.max()), 4)}
# Call it as a client would: a real image, then a text file
client = TestClient(app, raise_server_exceptions=False)
print(client.post("/predict", files={"file": png}).json(), client.post("/predict", files={"file": b"hi"}).status_code)
