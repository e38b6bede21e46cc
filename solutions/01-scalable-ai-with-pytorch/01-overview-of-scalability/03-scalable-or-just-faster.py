# The number of the option you choose
answer = 3
