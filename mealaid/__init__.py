"""mealaid"""
