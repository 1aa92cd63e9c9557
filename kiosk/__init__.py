"""The kiosk: what runs on the terminal a citizen meets.

So far: the local journal (``journal``) and a scripted transaction
(``simulate``) that plays a citizen's visit into the outbox, for the demo and
for training. The Kivy touch-screen app grows here.
"""
