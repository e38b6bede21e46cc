# Two conv blocks halve the image twice: 32 -> 16 -> 8
cnn = nn.Sequential(
    nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    # 32 feature maps of 8 x 8 pixels for each image
    nn.Linear(32 * 8 * 8, 10),
)
