answer = 2
