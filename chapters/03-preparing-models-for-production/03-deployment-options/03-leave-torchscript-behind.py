answer = ____
