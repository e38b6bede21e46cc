answer = 3
