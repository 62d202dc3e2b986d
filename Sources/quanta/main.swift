print("quanta")
