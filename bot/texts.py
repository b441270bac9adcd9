"""What the bot says and the labels of its buttons, as Babel msgids (translated per chat)."""

from core.i18n import N_

# The main menu: a persistent keyboard of large buttons, in this order, two to a row.
ORDER = N_("🍱 Order a meal")
REPEAT = N_("🔁 Same as last time")
MY_ORDERS = N_("📋 My orders")
MY_BILL = N_("💰 My bill")
STANDING = N_("📅 Standing order")
HELP = N_("❓ Help")
NEARBY = N_("📍 Nearby canteens")
SETTINGS = N_("⚙️ Settings")
MAIN_MENU = (ORDER, REPEAT, MY_ORDERS, MY_BILL, STANDING, NEARBY, HELP, SETTINGS)

SHARE_PHONE = N_("📱 Share my phone number")
HAVE_CODE = N_("🔑 I have a code")

CHOOSE_LANGUAGE = N_("Welcome to MealAid meal assistance. Please choose your language.")
ASK_PHONE = N_(
    "Please press “Share my phone number” below, so we can find you in the register. "
    "Family members, riders and community workers with a code from staff: press “I have a code”."
)
NOT_OWN_CONTACT = N_("Please share your own number with the button below.")
NOT_REGISTERED = N_(
    "We could not find this phone number among registered elders. To register for meals, "
    "please call {phone} or visit your community centre. Family members can use a code from "
    "the community worker."
)
WELCOME = N_("Welcome, {name}! Choose what you need with the buttons below.")
WELCOME_FAMILY = N_("You can now order meals for {name}. Choose with the buttons below.")
WELCOME_RIDER = N_(
    "Hello {name}: this chat is now your rider's chat. Send /route for today's route."
)
WELCOME_WORKER = N_(
    "Hello {name}: welfare alerts for the elders of your community will come to this chat."
)
WELCOME_BACK = N_("Hello again! Choose what you need with the buttons below.")
ASK_CODE = N_("Please type the code staff gave you, for example ABCD-2345.")
LANGUAGE_SET = N_("Language changed to English.")
NOT_UNDERSTOOD = N_("Sorry, I did not understand. Please use the buttons below.")
CANCELLED_FLOW = N_("Stopped. Choose what you need with the buttons below.")
SOMETHING_WRONG = N_("Sorry, something went wrong on our side. Please try again, or call {phone}.")
NOT_YOURS = N_("This is not available to you.")
HELP_TEXT = N_(
    "Use the big buttons below:\n"
    "🍱 Order a meal: choose the day, the meal and how you like it.\n"
    "🔁 Same as last time: the meal you had last time, in two taps.\n"
    "📋 My orders: see or cancel your orders.\n"
    "💰 My bill: this month's meals and who paid.\n"
    "📅 Standing order: the same meal on the days you choose.\n"
    "📍 Nearby canteens: eat in or pick up near where you are.\n"
    "Questions? Call {phone}."
)
CHOOSE_ELDER = N_("Who is this for?")
SETTINGS_TEXT = N_("Settings. Choose your language:")

PICK_DAY = N_("Which day? ({name})")
NOTHING_OPEN = N_(
    "There are no meals to order at the moment: today's orders have closed and the next "
    "menus are not out yet. Questions? Call {phone}."
)
NO_SITE = N_("{name} has no meal site yet. Please call {phone}.")
PICK_SLOT = N_("{date}: which meal?")
SLOT_BUTTON = N_("{slot} (order by {time})")
PICK_SET = N_("{date} {slot}: which set?")
CONTAINS = N_("(contains: {allergens})")
NOTHING_SUITABLE = N_(
    "There is nothing on this menu that suits {name}'s diet. Please choose another meal, or "
    "call {phone}."
)
PICK_VARIANT = N_("{dish}: how would you like it?")
CONFIRM_TITLE = N_("Please check your order:")
CONFIRM_FOR = N_("For: {name}")
CONFIRM_MEAL = N_("{date} {slot}")
CONFIRM_DISH = N_("{dish} · {variant} × {quantity}")
CONFIRM_MODE = N_("{mode} from {site}")
CONFIRM_PRICE = N_("Price: {price}")
CONFIRM_ELDER_PAYS = N_("You pay: {amount}")
CONFIRM_OTHERS_PAY = N_("Paid for you: {payers}")
CONFIRM = N_("✅ Confirm")
BACK = N_("↩️ Back")
PORTIONS = N_("{n} portion(s)")
CONFIRM_ALLERGENS = N_("⚠️ Contains: {allergens}")
OTHER_STYLES = N_("🍳 Another way of cooking it")
ORDERED = N_("✅ Ordered: {dish} · {variant} × {quantity}, {date} {slot}. You pay {amount}.")
ALREADY_PLACED = N_("This order has already been placed.")

PICK_REPEAT_MEAL = N_("Same as last time: which meal? ({name})")
REPEAT_OTHER_MEAL = N_("📅 Another day")
REPEAT_NOT_ON_MENU = N_(
    "{dish} is not on the menu for {slot} on {date}. Choose from that day's sets:"
)

MY_ORDERS_TITLE = N_("Orders for {name}")
NO_ORDERS = N_("{name} has no orders in the last 7 days or the days ahead.")
UPCOMING = N_("Coming up:")
RECENT = N_("Last 7 days:")
ORDER_LINE = N_("{date} {slot}: {dish} · {variant} × {quantity} ({status})")
CANCEL_BUTTON = N_("❌ Cancel {date} {slot}")
CANCEL_ASK = N_("Cancel {dish} on {date} {slot}?")
CANCEL_YES = N_("Yes, cancel it")
CANCEL_NO = N_("No, keep it")
CANCELLED = N_("Cancelled: {date} {slot}. Nothing to pay for it.")
KEPT = N_("Kept. Nothing changed.")

BILL_TITLE = N_("{name}, {month}")
BILL_MEALS = N_("Meals served: {meals}, worth {price}")
BILL_ELDER = N_("You paid: {amount}")
BILL_SHARE = N_("{share}: {amount}")
BILL_UPCOMING = N_("Still to come this month: {meals} meal(s), you will pay {amount}")
BILL_NOTHING = N_("No meals served yet this month.")

STANDING_TITLE = N_("Standing orders for {name}:")
STANDING_LINE = N_("{slot} on {weekdays}, from {site}")
STANDING_PAUSED = N_("paused {start} to {end}")
STANDING_NONE = N_("{name} has no standing order.")
STANDING_CHANGE = N_("Questions about standing orders? Call {phone}.")
STANDING_NEW = N_("➕ New standing order")
STANDING_STOP = N_("⏹ Stop {slot} on {weekdays}")
STANDING_STOP_ASK = N_(
    "Stop the standing order for {slot} on {weekdays}? Orders already placed stay."
)
STANDING_STOP_YES = N_("Yes, stop it")
STANDING_STOPPED = N_("Stopped: no more {slot} on {weekdays}.")
STANDING_PICK_SLOT = N_("New standing order for {name}: which meal?")
STANDING_PICK_DAYS = N_("{slot}: on which days? Tap the days, then “Next”.")
STANDING_WEEKDAYS = N_("Monday to Friday")
STANDING_EVERY_DAY = N_("Every day")
STANDING_NEXT = N_("Next ➡️")
STANDING_PICK_VARIANT = N_("How would you like it?")
STANDING_ANY_VARIANT = N_("As the menu comes")
STANDING_AS_THE_MENU_COMES = N_("as the menu comes")
STANDING_CONFIRM = N_(
    "Please check: {slot} on {weekdays}, {variant}, {mode} from {site}, from {start}."
)
STANDING_PRICE = N_("Today's price {price}; you pay about {amount} a meal.")
STANDING_MADE = N_(
    "✅ Standing order made: {slot} on {weekdays} from {start}. Each day's meal is ordered at "
    "the cutoff; pause or stop it here any time."
)

NEARBY_FROM_HOME = N_("Canteens nearest to {name}'s home:")
NEARBY_FROM_HERE = N_("Canteens nearest to where you are:")
NEARBY_SITE = N_("{n}. {site}, {distance} · {rating}")
NEARBY_MEAL = N_("{date} {slot}: {dishes}. {name} pays {amount}")
NEARBY_NO_MEAL = N_("No meals to order there at the moment.")
NEARBY_RATING = N_("👍 {percent} of {count} rated it good")
NEARBY_NOT_RATED = N_("not rated yet")
NEARBY_NONE = N_("There is no canteen near here yet. Questions? Call {phone}.")
NEARBY_ORDER_AT = N_("🍱 Order at {site}")
NEARBY_ELSEWHERE = N_("Somewhere else? Press “Share my location” below.")
SHARE_LOCATION = N_("📍 Share my location")
METRES = N_("{metres} m")
KILOMETRES = N_("{km} km")

TODAY = N_("Today")
TOMORROW = N_("Tomorrow")

RIDER_UNDO = N_("↩️ Undo stop {position} ({name})")
RIDER_UNDONE = N_("Taken back: stop {position} ({name}) is waiting again.")
WELFARE_ALERT = N_(
    "⚠️ The rider could not reach {name} at the door at {time} ({slot} delivery). "
    "Please contact them to make sure they are well."
)
WELFARE_ESCALATED = N_(
    "⚠️ Welfare alert: nobody answered the door for {name} ({address}, {phone}) at {time}, and "
    "nobody has responded since. Please call or visit."
)
WELFARE_HANDLED = N_("{by} has responded about {name}: {how}.")
WELFARE_WITHDRAWN = N_(
    "✅ Please disregard the earlier alert about {name}: the rider took back “nobody answered” "
    "(it was tapped by mistake, or the door opened a moment later)."
)
ACK_REACHED = N_("✅ I've reached them, all well")
ACK_COMING = N_("🚶 I'm on my way")
ACK_THANKS = N_("Thank you. Recorded: {how}. Staff can see it.")
# Above a notice sent again after a send whose outcome the bot never heard (its process
# stopped, the network failed): the first may have arrived.
SENT_AGAIN = N_("(Sent again: you may have had this message already.)")

RIDER_NO_ROUTE = N_("You have no route today.")
RIDER_ROUTE = N_("Route {number}, {slot}: {stops} stops, leave at {departure}.")
RIDER_STOP = N_("{position}. {eta} {name}, {address} ☎ {phone} · {dish} · {variant} × {quantity}")
RIDER_WARN = N_("⚠️ {warnings}")
RIDER_NEXT = N_("Next: stop {position}, {name}.")
RIDER_ALL_DONE = N_("All stops done. Thank you!")
RIDER_DELIVERED = N_("✅ Delivered")
RIDER_NO_ANSWER = N_("🚪 No answer")
RIDER_NAVIGATE = N_("🗺 Navigate")
RIDER_SURE_NO_ANSWER = N_(
    "Nobody answered at {name}'s door ({address})? The family and the community worker will be "
    "told at once, to check all is well."
)
RIDER_CONFIRM_NO_ANSWER = N_("🚪 Yes, nobody answered")
NOT_A_RIDER = N_("This is for riders. Please use the buttons below.")

ORDER_LOCKED = N_("Confirmed for the kitchen: {date} {slot}, {dish} · {variant} × {quantity}.")
ETA = N_("🛵 {name}'s {slot} will arrive at about {time}.")
SERVED = N_("✅ {name}'s {slot} was served at {time}. How was it?")
STANDING_SKIPPED = N_("⚠️ {name}'s usual {slot} for {date} could not be ordered: {reason}")
RATE_GOOD = N_("👍 Good")
RATE_BAD = N_("👎 Not good")
RATE_WHY = N_("Sorry to hear that. What was wrong?")
RATE_THANKS = N_("Thank you! The kitchen will hear about it.")

PAUSE_BUTTON = N_("⏸ Pause {slot} on {weekdays}")
RESUME_BUTTON = N_("▶️ Resume {slot} on {weekdays}")
PAUSE_FROM = N_("Pause from which day?")
PAUSE_UNTIL = N_("Until which day? (the last day without meals)")
PAUSED = N_("Paused: no {slot} from {start} to {end}. Meals start again on {again}.")
RESUMED = N_("Resumed: {slot} on {weekdays} again from {date}.")

REMINDER = N_("Good morning! Lunch today for {name}? Last time: {dish}.")
REMINDER_NEW = N_("Good morning! Lunch today for {name}?")
SAME_AS_USUAL = N_("✅ Same as usual")
CHOOSE_MEAL = N_("🍱 Choose a meal")

CHANGE_BUTTON = N_("✏️ Change")
CHANGE_TITLE = N_("Please check the change:")
CHANGED = N_("✅ Changed: {dish} · {variant} × {quantity}, {date} {slot}. You pay {amount}.")
ADD_ELDER = N_("👪 Order for another elder (family code)")

# The bot's commands as Telegram lists them.
COMMANDS = (
    ("start", N_("Start, or back to the menu")),
    ("cancel", N_("Stop what you are doing")),
    ("help", N_("How to use the buttons")),
    ("route", N_("Today's route (riders)")),
)
