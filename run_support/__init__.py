"""What train_autoenc_lite.py needs around the homework, none of it the homework itself:
gradient_check, timing, report (every printed line), plots (every figure, the only module
of the run that imports Matplotlib), image_files, command_line and results_folder. The
homework's math is utils.py, beside this folder; it imports nothing from here."""
