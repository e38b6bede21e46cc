app = FastAPI()


@app.post("/predict")
def predict(request: Pixels):
    try:
        x = to_model_input(np.asarray(request.pixels, dtype=____))
    except ____ as err:
        # A wrong shape is the client's mistake: a 4xx, never a 500
        raise HTTPException(status_code=____, detail=str(err))
    logits = session.run(None, {"x": x})[0][0]
    return {"label": ____}
