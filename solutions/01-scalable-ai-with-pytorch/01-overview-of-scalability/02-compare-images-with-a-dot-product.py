# Two images, each flattened into a vector of 3,072 values
u, v = images[0].flatten(), images[1].flatten()
# Dot product: multiply the pairs of values and sum them
similarity = torch.dot(u, v)
# A vector's length: the square root of its dot with itself
length_u = torch.sqrt(torch.dot(u, u))
length_v = torch.sqrt(torch.dot(v, v))
# Cosine similarity: 1.0 means the same direction
cosine = similarity / (length_u * length_v)
# The whole batch as a matrix, one image per row
flat = images.flatten(start_dim=1)
# 256 dot products with u, in one call
all_dots = flat @ u
print(CLASSES[labels[0]], "vs", CLASSES[labels[1]], cosine, all_dots.shape)
